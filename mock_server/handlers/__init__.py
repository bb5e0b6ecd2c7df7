"""Operation handlers, one module per resource; `app.create_app` maps operationIds onto them."""
