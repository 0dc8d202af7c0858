"""The wire protocol: request bodies, codecs, the V2 protocol, problem+json errors and OpenAPI."""
