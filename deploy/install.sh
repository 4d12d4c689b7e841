#!/usr/bin/env bash
# Installs lbd on this node: binaries, systemd unit, configuration, user.
# Idempotent (run it again to upgrade) and DESTDIR-aware (packaging):
#
#   make build && sudo ./deploy/install.sh
#   DESTDIR=/tmp/pkg PREFIX=/usr ./deploy/install.sh
#
# An existing /etc/lbd/appliance.hcl is never overwritten.
set -euo pipefail
cd "$(dirname "$0")/.."

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
BINDIR=${BINDIR:-$PREFIX/bin}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/lbd}
if [ "$PREFIX" = /usr ]; then UNITDIR=${UNITDIR:-/usr/lib/systemd/system}; else UNITDIR=${UNITDIR:-/etc/systemd/system}; fi
SYSUSERSDIR=${SYSUSERSDIR:-/usr/lib/sysusers.d}

for b in bin/lbd bin/lbctl; do
  [ -x "$b" ] || { echo "install: $b is missing; run 'make build' first" >&2; exit 1; }
done

say() { echo "install: $*"; }

install -d -m 0755 "$DESTDIR$SBINDIR" "$DESTDIR$BINDIR" "$DESTDIR$UNITDIR" "$DESTDIR$DOCDIR" "$DESTDIR$SYSUSERSDIR"
install -m 0755 bin/lbd "$DESTDIR$SBINDIR/lbd"
install -m 0755 bin/lbctl "$DESTDIR$BINDIR/lbctl"
say "binaries in $SBINDIR/lbd and $BINDIR/lbctl"

sed -e "s|@SBINDIR@|$SBINDIR|g" -e "s|@SYSCONFDIR@|$SYSCONFDIR|g" -e "s|@DOCDIR@|$DOCDIR|g" \
  systemd/lbd.service > "$DESTDIR$UNITDIR/lbd.service.tmp"
chmod 0644 "$DESTDIR$UNITDIR/lbd.service.tmp"
mv -f "$DESTDIR$UNITDIR/lbd.service.tmp" "$DESTDIR$UNITDIR/lbd.service"
say "systemd unit $UNITDIR/lbd.service"

install -m 0644 README.md "$DESTDIR$DOCDIR/README.md"
printf 'u lbd - "lbd load-balancer appliance" /nonexistent /usr/sbin/nologin\n' > "$DESTDIR$SYSUSERSDIR/lbd.conf"

# Configuration: readable by the lbd group only (it holds the stats and VRRP
# passwords).
install -d -m 0750 "$DESTDIR$SYSCONFDIR/lbd" "$DESTDIR$SYSCONFDIR/lbd/errors"
install -m 0640 appliance.hcl.example "$DESTDIR$SYSCONFDIR/lbd/appliance.hcl.example"
for f in deploy/errors/*.http; do
  [ -e "$DESTDIR$SYSCONFDIR/lbd/errors/$(basename "$f")" ] || install -m 0640 "$f" "$DESTDIR$SYSCONFDIR/lbd/errors/"
done
if [ -e "$DESTDIR$SYSCONFDIR/lbd/appliance.hcl" ]; then
  say "kept the existing $SYSCONFDIR/lbd/appliance.hcl"
else
  install -m 0640 appliance.hcl.example "$DESTDIR$SYSCONFDIR/lbd/appliance.hcl"
  say "installed $SYSCONFDIR/lbd/appliance.hcl from the example: edit it for this node"
fi

if [ -z "$DESTDIR" ]; then
  if ! getent passwd lbd >/dev/null; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin lbd
    say "created the system user lbd"
  fi
  chown -R root:lbd "$SYSCONFDIR/lbd"
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    say "next: edit $SYSCONFDIR/lbd/appliance.hcl, then: systemctl enable --now lbd"
  else
    say "systemd is not running here; start by hand: $SBINDIR/lbd -f $SYSCONFDIR/lbd/appliance.hcl"
  fi
else
  say "DESTDIR set: the lbd user is created at install time by systemd-sysusers ($SYSUSERSDIR/lbd.conf)"
fi
