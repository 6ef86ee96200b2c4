#!/bin/sh
# Linux: the .deb and the .run with their tests, as CI runs them. Needs Debian or Ubuntu
# (apt-get for the system packages). From the repository root:  sh build/linux/build.sh
set -eu
cd "$(dirname "$0")/../.."
make dist-test
