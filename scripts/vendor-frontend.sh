#!/usr/bin/env bash
# Refresh the vendored front-end files under rectify/console/static/vendor/ from the npm registry.
#
# Run by hand, never by make or at run time: change a version below, run
#     scripts/vendor-frontend.sh
# then check the pages (`make test` runs tests/browser) and commit the files and README.md it
# wrote. Packages are fetched with `npm pack` into a scratch folder under /tmp (npm checks each
# tarball against the registry's integrity hash); only the files the pages load, and each
# package's licence, are copied into the repository. No node_modules, no package-lock.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=rectify/console/static/vendor

# package@version | folder under vendor/ | files to copy (paths inside the package)
PACKAGES=(
  "htmx.org@2.0.11|htmx|dist/htmx.min.js LICENSE"
  "mermaid@12.3.0|mermaid|dist/mermaid.min.js LICENSE"
  "swagger-ui-dist@5.35.0|swagger-ui|swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt"
  "echarts@6.1.0|echarts|dist/echarts.min.js LICENSE NOTICE"
)

scratch=$(mktemp -d /tmp/rectify-vendor.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

rows=""
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec folder files <<<"$entry"
  name=${spec%@*}
  version=${spec##*@}
  tarball=$(cd "$scratch" && npm pack --silent "$spec" | tail -n 1)
  integrity=$(cd "$scratch" && npm view "$spec" dist.integrity)
  license=$(cd "$scratch" && npm view "$spec" license)
  mkdir -p "$scratch/$folder"
  tar -xzf "$scratch/$tarball" -C "$scratch/$folder"
  rm -rf "${DEST:?}/$folder"
  mkdir -p "$DEST/$folder"
  listed=""
  for file in $files; do
    cp "$scratch/$folder/package/$file" "$DEST/$folder/"
    listed="$listed \`$(basename "$file")\`"
  done
  rows="$rows| \`$name\` | $version | \`$folder/\`:$listed | $license | \`$integrity\` |"$'\n'
  echo "vendored $spec into $DEST/$folder"
done

cat >"$DEST/README.md" <<EOF
# Vendored front-end files

Served by rectify itself under \`/console/static/vendor/\`: nothing is loaded from a CDN or
fetched at run time (safety offices run on intranets without internet). Each folder holds the
files the pages load, unchanged from the package, and the package's licence.

| package (npm) | version | files | licence | tarball integrity |
|---|---|---|---|---|
${rows}
Refresh (by hand; make never runs it): change the versions in \`scripts/vendor-frontend.sh\`,
run \`scripts/vendor-frontend.sh\` (it rewrites this file), run \`make test\` (tests/browser
renders /docs and runs each library under the Content-Security-Policy) and commit.

Notes:
- \`mermaid.min.js\` is mermaid's single-file browser bundle (every diagram type inside; it
  loads no chunks) and sets \`window.mermaid\`.
- \`swagger-ui-bundle.js\` is used without the standalone preset (no top bar); the page's
  initialiser is rectify's own \`/console/static/api-docs/swagger-init.js\`.
- No ReDoc: its bundle starts a search worker from a blob: URL and shows a logo from the
  vendor's CDN, both refused by the policy; \`/redoc\` redirects to \`/docs\`.
- htmx stays on the 2.0 line (maintained beside 4.0; see docs/DECISIONS.md).
EOF
echo "wrote $DEST/README.md"
