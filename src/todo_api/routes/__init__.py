"""The API's routers. The application mounts them under `API_PREFIX` (the health check also at
the root); every other module that names an API path builds it from this one constant."""

API_PREFIX = "/api/v1"
