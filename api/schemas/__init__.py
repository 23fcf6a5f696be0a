"""The marshmallow schemas: every request body and query string is loaded through one of these,
and the OpenAPI document is generated from the same classes (api.openapi).

One module per area of the API, named as in api.resources, so a resource imports the schemas of
its own area (docs and jobs have none of their own); what several areas share is in one place:
`fields` (field types and validators) and `common` (pagination, the Response base, jobs and
problem details). An area shows another's data by importing that area's schema (a feed item's
UserSummary comes from `users`).

Nothing is re-exported here: import a schema from the module it lives in. The document names
its components after the classes, so a class keeps its name wherever it moves."""
