#!/usr/bin/env bash
# Debian packages the tests use for real: Chromium (maps in a browser), QGIS's Python
# (GeoPackages and projects opened by QGIS), Debian's GDAL for Python (raster attribute tables read
# back), CJK fonts (screenshots and figures that show Chinese) and poppler-utils
# (pdftoppm/pdffonts/pdfinfo check the PDFs of figures and QGIS print layouts).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c "import qgis.core" 2>/dev/null || need+=(python3-qgis)
/usr/bin/python3 -c "from osgeo import gdal" 2>/dev/null || need+=(python3-gdal)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
command -v pdftoppm >/dev/null && command -v pdffonts >/dev/null && command -v pdfinfo >/dev/null || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "error: missing Debian packages: ${need[*]}; fix: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
