"""The mock's own ASGI layers, one module each; stack.py puts them in order with connexion's."""
