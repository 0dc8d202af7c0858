"""The API's description as files: the OpenAPI document (offline), its Redocly lint, the Postman collection."""
