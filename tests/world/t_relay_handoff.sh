#!/usr/bin/env bash
# t_relay_handoff.sh -- the outside world across a hand-off between network
# namespaces: fds.c describes the chat server's descriptors at the freeze,
# the relay (src/tool/relay.c) keeps the connected clients and forwards new
# ones, the destination rebuilds the table -- natively and for s390x and
# i686 builds under qemu. (Until `hop migrate` carries whole programs, the
# server writes its few bytes of state itself: tests/world/srv.c.)
# timeout: 240
set -eu
cd "$HOP_ROOT"
. tests/world/netns.sh
B=build/world
mkdir -p $B
CFLAGS="-std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Iinclude"
gcc $CFLAGS -iquote src/lib -Isrc/tool -o $B/relay_drv tests/world/relay_drv.c src/tool/relay.c build/x86_64/libhop.a \
	-lsodium -lpthread
gcc $CFLAGS -Isrc/lib -o $B/srv tests/world/srv.c build/x86_64/libhop.a -lpthread
s390x-linux-gnu-gcc $CFLAGS -Isrc/lib -o $B/srv.s390x tests/world/srv.c build/s390x/libhop.a -lpthread
i686-linux-gnu-gcc $CFLAGS -Isrc/lib -o $B/srv.i686 tests/world/srv.c build/i686/libhop.a -lpthread

if ! world_up; then
	echo "network namespaces cannot be created here (need root and ip); skipping"
	exit 77
fi
echo "namespaces: origin $W_OIP, destination $W_DIP, clients $W_CIP"
S390="qemu-s390x -L /usr/s390x-linux-gnu"
I386="qemu-i386 -L /usr/i686-linux-gnu"
run() { # name origin-cmd dest-cmd
	local d
	d=$(mktemp -d)
	echo "== $1"
	if ! ip netns exec "$W_C" python3 tests/world/chat_world.py \
		handoff "$W_O" "$W_D" "$W_OIP" "$W_DIP" 7000 "$d" "$B/relay_drv $W_DIP $d 60" "$2 serve 7000 $d $W_OIP" "$3 resume $d" 3; then
		for f in "$d"/*.log; do echo "--- $f"; cat "$f"; done
		exit 1
	fi
	rm -rf "$d"
}
run "x86_64 -> x86_64" $B/srv $B/srv
run "x86_64 -> s390x (qemu)" $B/srv "$S390 $B/srv.s390x"
run "s390x (qemu) -> x86_64" "$S390 $B/srv.s390x" $B/srv
run "x86_64 -> i686 (qemu)" $B/srv "$I386 $B/srv.i686"
echo "all hand-offs kept their clients"
