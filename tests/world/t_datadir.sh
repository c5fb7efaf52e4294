#!/usr/bin/env bash
# t_datadir.sh -- the data directory follows the program (src/tool/datadir.c):
# copied from the origin namespace to the destination namespace while a
# program appends to one file and rewrites ranges of another, in rounds,
# then a final round with the program frozen (SIGSTOP): the two directories
# must be identical byte for byte (content, sizes, modes, file mtimes,
# symlinks, no stale files). The destination starts with an older copy of
# the large file, so only the changed ranges travel; moving back sends
# no file data at all.
# timeout: 120
set -eu
cd "$HOP_ROOT"
. tests/world/netns.sh
B=build/world
mkdir -p $B
gcc -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Iinclude -iquote src/lib \
	-Isrc/tool -o $B/datadir_drv tests/world/datadir_drv.c src/tool/datadir.c build/x86_64/libhop.a -lsodium -lpthread
if world_up; then
	O="ip netns exec $W_O" D="ip netns exec $W_D" DIP=$W_DIP
	echo "namespaces: origin $W_OIP, destination $W_DIP"
else
	O="" D="" DIP=127.0.0.1
	echo "network namespaces unavailable: falling back to loopback"
fi
T=$(mktemp -d)
APP=
cleanup() {
	set +e
	[ -n "$APP" ] && kill -9 "$APP" 2>/dev/null
	rm -rf "$T"
	world_down
}
trap cleanup EXIT
mkdir -p "$T/o/sub/deeper" "$T/d"
head -c $((24 * 1024 * 1024)) /dev/urandom >"$T/o/big"
echo "a small file" >"$T/o/sub/small"
head -c 100000 /dev/urandom >"$T/o/sub/deeper/binary"
chmod 640 "$T/o/sub/small"
ln -s sub/small "$T/o/link"
: >"$T/o/log"
# the destination already has an older version of big (two ranges differ)
# and a file the origin does not have
cp "$T/o/big" "$T/d/big"
printf 'OLD!' | dd of="$T/d/big" bs=1 seek=5000000 conv=notrunc status=none
printf 'OLD!' | dd of="$T/d/big" bs=1 seek=20000000 conv=notrunc status=none
echo stale >"$T/d/stale"

same() { # dir1 dir2: identical trees, byte for byte, with modes and file times
	diff -r --no-dereference "$1" "$2" || return 1
	local a b
	a=$(cd "$1" && find . -printf '%P %y %m %s\n' | sort; find . -type f -printf '%P %T@\n' | sort)
	b=$(cd "$2" && find . -printf '%P %y %m %s\n' | sort; find . -type f -printf '%P %T@\n' | sort)
	[ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b"); return 1; }
}

$D $B/datadir_drv recv "$T/d" 7100 >"$T/recv.log" 2>&1 &
RECV=$!
$O python3 tests/world/appender.py "$T/o" &
APP=$!
for i in $(seq 200); do [ -s "$T/o/log" ] && break; sleep 0.05; done
[ -s "$T/o/log" ] || { echo "the writing program did not start"; exit 1; }
$O $B/datadir_drv send "$T/o" $DIP 7100 4 200 $APP | tee "$T/send.log"
wait $RECV || { cat "$T/recv.log"; exit 1; }
lines=$(wc -l <"$T/o/log")
[ "$lines" -gt 100 ] || { echo "the program appended only $lines lines"; exit 1; }
same "$T/o" "$T/d" || { echo "FAIL: directories differ after the final round"; exit 1; }
echo "identical after the final round ($lines lines appended during the rounds)"
# round 1 sent changed ranges of big, not big
r1=$(sed -n 's/^live round 1: .* bytes \([0-9]*\) .*/\1/p' "$T/send.log")
[ "$r1" -lt $((4 * 1024 * 1024)) ] || { echo "FAIL: round 1 sent $r1 bytes; big (24 MiB) should travel as ranges"; exit 1; }
grep -q "^live round 1: .*deleted 1 " "$T/send.log" || { echo "FAIL: the stale file was not deleted"; exit 1; }
kill -9 $APP; APP=

# moving back: the origin's copy is already current, no file data travels
$O $B/datadir_drv recv "$T/o" 7101 >"$T/recv2.log" 2>&1 &
RECV=$!
sleep 0.3
OIP=${W_OIP:-127.0.0.1}
$D $B/datadir_drv send "$T/d" $OIP 7101 1 0 | tee "$T/back.log"
wait $RECV
same "$T/o" "$T/d"
grep -q "^final round 2: files 0 blocks 0 bytes 0 deleted 0" "$T/back.log" || { echo "FAIL: moving back sent data"; exit 1; }
echo "moving back sent no file data"
