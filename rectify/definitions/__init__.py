"""The deployed workflow definitions over HTTP (the definitions themselves live in `workflow/`,
which knows nothing of HTTP)."""
