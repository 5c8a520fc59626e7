"""工作台: the web console people use, server-rendered from Jinja2 templates in Chinese.

`render.py` holds the template environment and its filters, `deps.py` the signed-in caller
(`ConsoleCaller`) and the CSRF check of forms (`CheckedForm`), `errors.py` the HTML error pages,
`views.py` sign-in, sign-out and the landing page, `admin.py` the people admin page.
"""
