"""One module per API family: build the request, parse the typed result."""
