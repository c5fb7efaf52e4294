#!/usr/bin/env bash
# `hop receive` binds where it is told and, given only a port, only to
# loopback: the listening socket's address is checked in /proc/net/tcp, and a
# connection to another address of this machine is refused. An explicit
# 0.0.0.0 or [::1] binds exactly that; a bad address is a clear error.
# timeout: 60
. "$(dirname "$0")/../faults/flib.sh"

listening() { # port -> local addresses listening on it (hex, from /proc/net/tcp{,6})
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" '$4 == "0A" && $2 ~ p"$" {print $2}' /proc/net/tcp /proc/net/tcp6
}

echo "== port only"
ft_door 0
addrs=$(listening "$PORT")
echo "listening on: $addrs"
[ "$addrs" = "0100007F:$(printf '%04X' "$PORT")" ] || ft_die "port-only --listen bound $addrs, want 127.0.0.1 only"
other=$(ip -4 -o addr show scope global 2>/dev/null | awk '{sub("/.*", "", $4); print $4; exit}')
if [ -n "$other" ]; then
	if python3 -c "import socket,sys; socket.create_connection(('$other', $PORT), timeout=3)" 2>/dev/null; then
		ft_die "reached the loopback-only receiver through $other"
	fi
	echo "connection to $other:$PORT refused: ok"
else
	echo "(no non-loopback IPv4 address here: the /proc/net/tcp check stands alone)"
fi
kill "$RPID"

echo "== 0.0.0.0 when told"
ft_door 0.0.0.0:0
addrs=$(listening "$PORT")
echo "listening on: $addrs"
[ "$addrs" = "00000000:$(printf '%04X' "$PORT")" ] || ft_die "0.0.0.0 bound $addrs"
kill "$RPID"

if [ -e /proc/net/if_inet6 ] && python3 -c "import socket; s=socket.socket(socket.AF_INET6); s.bind(('::1', 0))" 2>/dev/null; then
	echo "== [::1] when told"
	ft_door "[::1]:0"
	addrs=$(listening "$PORT")
	echo "listening on: $addrs"
	[ "$addrs" = "00000000000000000000000001000000:$(printf '%04X' "$PORT")" ] || ft_die "[::1] bound $addrs"
	kill "$RPID"
fi

echo "== bad addresses"
for bad in "nonsense:12" "127.0.0.1:notaport" "[::1:5"; do
	out=$(hop receive --listen "$bad" --token-file "$FT_DIR/token" -- true 2>&1) && ft_die "--listen $bad accepted"
	echo "--listen $bad: $out"
	[ -n "$out" ] || ft_die "no message for --listen $bad"
done
echo PASS
