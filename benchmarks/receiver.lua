-- wrk script for the receiver suite: POST an inbound SMS with a unique refid
-- per request (run prefix, thread number, counter), signed with the shared
-- code, and print one JSON line of figures when done.
--
--   wrk -t2 -c32 -d3s -s benchmarks/receiver.lua http://127.0.0.1:PORT/ -- RUNPREFIX

local threads = {}
local counter = 0
local prefix = "r"

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

function init(args)
  prefix = (args[1] or "r") .. "-" .. number .. "-"
  wrk.headers["Content-Type"] = "application/json"
end

local head = '{"refid":"'
local tail = '","from":"+7708675309","to":"+13038675309","message":"Hello World!",'
  .. '"signature":"SECRET CODE"}'

function request()
  counter = counter + 1
  return wrk.format("POST", "/", nil, head .. prefix .. counter .. tail)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.6f,"p50_ms":%.3f,"p99_ms":%.3f,'
      .. '"status_errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
