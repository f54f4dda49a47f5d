"""Request and response bodies: the API's own shapes, separate from entities and table rows."""
