#!/usr/bin/env bash
# t_chat_migrate.sh -- the real thing: a chat server (tests/world/chat.c,
# built with `hop cc`) with connected clients is migrated by `hop migrate`
# / `hop receive` from one network namespace to another -- natively and
# across ABIs (x86_64 -> s390x and back under qemu, x86_64 -> i686). The
# clients keep their connections (relayed by the origin's `hop migrate`),
# see every message once, in order, including a line half-sent at the
# switch; new clients reach the old address (forwarded) and the new one;
# forwarding ends on `hop migrate --stop-forwarding`.
# timeout: 400
set -eu
cd "$HOP_ROOT"
. tests/world/netns.sh
B=build/world
mkdir -p $B
for t in x86_64 s390x i686; do
	if [ ! -x $B/chat.$t ] || [ tests/world/chat.c -nt $B/chat.$t ] || [ build/$t/libhop.a -nt $B/chat.$t ]; then
		hop cc --target $t -o $B/chat.$t tests/world/chat.c -O1
	fi
done
if ! world_up; then
	echo "network namespaces cannot be created here (need root and ip); skipping"
	exit 77
fi
echo "namespaces: origin $W_OIP, destination $W_DIP, clients $W_CIP"
export HOP_RUN_DIR
HOP_RUN_DIR=$(mktemp -d)
chmod 700 "$HOP_RUN_DIR"
qemu() { case $1 in x86_64) echo "" ;; s390x) echo "qemu-s390x -L /usr/s390x-linux-gnu" ;; i686) echo "qemu-i386 -L /usr/i686-linux-gnu" ;; esac; }
run() { # from to
	local d
	d=$(mktemp -d)
	echo "== $1 -> $2"
	if ! ip netns exec "$W_C" python3 tests/world/chat_world.py hop "$W_O" "$W_D" "$W_OIP" "$W_DIP" 7000 "$d" \
		"$(qemu "$1") $B/chat.$1 7000" "$(qemu "$2") $B/chat.$2 7000" 3; then
		for f in "$d"/*.out "$d"/*.err; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
		exit 1
	fi
	rm -rf "$d"
}
run x86_64 x86_64
run x86_64 s390x
run s390x x86_64
run x86_64 i686
rm -rf "$HOP_RUN_DIR"
echo "every migration kept its clients"
