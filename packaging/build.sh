#!/bin/sh
# Builds yubin's .deb and .rpm for one architecture into OUTDIR (default
# dist/):   packaging/build.sh amd64|arm64 [OUTDIR]
#
# maild needs cgo (mattn/go-sqlite3), so arm64 is cross-compiled with
# Debian's aarch64-linux-gnu-gcc (package gcc-aarch64-linux-gnu). nfpm runs
# pinned through `go run`, outside our module. Environment: GO, VERSION
# (default: packaging/version.sh), CC (overrides the C compiler).
set -eu
arch=${1:?usage: build.sh amd64|arm64 [OUTDIR]}
out=${2:-dist}
cd "$(dirname "$0")/.."
GO=${GO:-go}
NFPM=${NFPM:-github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2}
VERSION=${VERSION:-$(packaging/version.sh)}

hostarch=$($GO env GOHOSTARCH)
case $arch in
amd64) cross=x86_64-linux-gnu-gcc ;;
arm64) cross=aarch64-linux-gnu-gcc ;;
*) echo "build.sh: unsupported architecture $arch" >&2; exit 2 ;;
esac
if [ -z "${CC:-}" ]; then
	if [ "$arch" = "$hostarch" ]; then CC=gcc; else CC=$cross; fi
fi
if ! command -v "$CC" >/dev/null; then
	echo "build.sh: $CC not found (apt-get install gcc-${cross%-gcc})" >&2
	exit 1
fi

# Reproducible dates: the last commit's time.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

mkdir -p "$out"
stage=$(cd "$out" && pwd)/stage-$arch
rm -rf "$stage"
mkdir -p "$stage/man/man8" "$stage/doc"

echo "build.sh: yubin $VERSION for linux/$arch (CC=$CC)"
# Hardened like Debian's own builds: PIE, full RELRO, fortified C, no
# debug symbols (the packages ship stripped binaries).
CGO_ENABLED=1 GOOS=linux GOARCH=$arch CC=$CC \
	CGO_CPPFLAGS="-D_FORTIFY_SOURCE=2" \
	CGO_CFLAGS="-O2 -fstack-protector-strong -fstack-clash-protection" \
	CGO_LDFLAGS="-Wl,-z,relro,-z,now" \
	$GO build -trimpath -buildmode=pie \
	-ldflags "-s -w -X main.version=$VERSION -X yubin/admin/cli.Version=$VERSION" \
	-o "$stage/" ./cmd/maild ./cmd/mailctl

# Man pages and completions from the cobra tree (built for the host).
$GO run ./packaging/gendocs -version "$VERSION" "$stage"
gzip -9n "$stage"/man1/*.1
mv "$stage/man1" "$stage/man/man1"
sed "1s/\"\"/\"$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)\"/; 1s/\"Yubin\"/\"Yubin $VERSION\"/" \
	packaging/maild.8 | gzip -9n >"$stage/man/man8/maild.8.gz"

# Documents: README, copyright (with the license text when the repository
# has one), a Debian changelog.
gzip -9nc README.md >"$stage/doc/README.md.gz"
{
	echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
	echo "Upstream-Name: yubin"
	echo
	echo "Files: *"
	echo "Copyright: $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y) Yubin maintainers"
	if [ -f LICENSE ]; then
		echo "License: see-below"
		sed 's/^$/./; s/^/ /' LICENSE
	else
		echo "License: unspecified"
		echo " The source repository does not state a license yet."
	fi
} >"$stage/doc/copyright"
{
	echo "yubin ($VERSION) unstable; urgency=medium"
	echo
	echo "  * Build of commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
	echo
	echo " -- Yubin maintainers <maintainers@users.noreply.h-seed-64a51db0.example>  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$stage/doc/changelog.gz"

# The packages depend on the newest glibc symbol version the binaries use.
GLIBC=$(readelf --dyn-syms -W "$stage/maild" "$stage/mailctl" |
	grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)

export VERSION ARCH="$arch" STAGE="$stage" GLIBC
for p in deb rpm; do
	$GO run "$NFPM" package --config packaging/nfpm.yaml --packager "$p" --target "$out/"
done
