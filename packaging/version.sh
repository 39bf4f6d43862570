#!/bin/sh
# Prints the version stamped into the binaries and the packages, valid as a
# Debian and an RPM version and as semver (nfpm splits it):
#   on tag v1.2.3                    1.2.3
#   3 commits after v1.2.3           1.2.3+git3.<hash>
#   no tag yet                       0.0.0+git<commits>.<hash>
#   uncommitted changes              ... .dirty appended
# The commit count keeps untagged builds ordered for dpkg and rpm.
set -eu
cd "$(dirname "$0")/.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo 0.0.0
	exit 0
fi
hash=$(git rev-parse --short=7 HEAD)
dirty=
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	dirty=.dirty
fi
if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null); then
	base=${tag#v}
	n=$(git rev-list --count "$tag..HEAD")
	if [ "$n" = 0 ]; then
		if [ -n "$dirty" ]; then echo "$base+git0.$hash$dirty"; else echo "$base"; fi
	else
		echo "$base+git$n.$hash$dirty"
	fi
else
	echo "0.0.0+git$(git rev-list --count HEAD).$hash$dirty"
fi
