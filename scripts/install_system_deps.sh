#!/usr/bin/env bash
# System packages the tests need: a real Redis for the local Argilla server, Chromium +
# ChromeDriver to drive its web UI headless, and cron (crontab). Installed with apt when missing (Debian/Ubuntu, as
# root); elsewhere it says what to install and stops.
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v crontab >/dev/null || missing+=(cron)  # a real crontab for the `schedule crontab --install` test
((${#missing[@]})) || exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" fonts-liberation >/dev/null
else
  echo "The tests need these system packages: ${missing[*]} (plus fonts-liberation)." >&2
  echo "Install them with your package manager (e.g. sudo apt-get install ${missing[*]}), then rerun." >&2
  exit 1
fi
