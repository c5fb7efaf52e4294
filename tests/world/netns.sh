# netns.sh -- test "machines" as network namespaces (sourced by t_*.sh).
#
# world_up creates three namespaces, each with its own address on its own
# veth link to the root namespace, which routes between them (forwarding is
# switched on for those links only, not globally):
#   $W_O  origin       $W_OIP
#   $W_D  destination  $W_DIP
#   $W_C  clients      $W_CIP
# world_down removes them; world_up installs it as an EXIT trap. Names and
# subnets carry the shell's PID so parallel runs do not collide. When
# namespaces cannot be created (not root, no ip), world_up returns 1 and the
# caller falls back to loopback or skips, saying so.
world_down() {
	for n in o d c; do
		ip link del "hw$$$n" 2>/dev/null
		ip netns del "hopw$$$n" 2>/dev/null
	done
	return 0
}

# Namespaces left by a run that was killed outright (its PID is gone).
world_reap() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^hopw[0-9]*[odc]$'); do
		pid=${ns#hopw}
		pid=${pid%?}
		kill -0 "$pid" 2>/dev/null && continue
		ip netns del "$ns" 2>/dev/null
		ip link del "hw$pid${ns: -1}" 2>/dev/null
	done
	return 0
}

world_up() {
	command -v ip >/dev/null || return 1
	[ "$(id -u)" = 0 ] || return 1
	local sub=$((100 + $$ % 150)) i=1
	W_O=hopw$$o W_D=hopw$$d W_C=hopw$$c
	world_reap
	# another run may hold this subnet: take the next free one
	while ip -4 addr show 2>/dev/null | grep -q "inet 10\.$sub\.1\.1/"; do sub=$(((sub - 99) % 150 + 100)); done
	trap 'world_down' EXIT
	trap 'world_down; exit 143' TERM
	trap 'world_down; exit 130' INT
	for n in o d c; do
		ip netns add "hopw$$$n" || { world_down; return 1; }
		ip link add "hw$$$n" type veth peer name eth0 netns "hopw$$$n" || { world_down; return 1; }
		ip addr add "10.$sub.$i.1/24" dev "hw$$$n"
		ip link set "hw$$$n" up
		sysctl -qw "net.ipv4.conf.hw$$$n.forwarding=1"
		ip -n "hopw$$$n" addr add "10.$sub.$i.2/24" dev eth0
		ip -n "hopw$$$n" link set eth0 up
		ip -n "hopw$$$n" link set lo up
		ip -n "hopw$$$n" route add default via "10.$sub.$i.1"
		i=$((i + 1))
	done
	W_OIP=10.$sub.1.2 W_DIP=10.$sub.2.2 W_CIP=10.$sub.3.2
	# the root namespace may filter forwarded packets (a firewall's
	# FORWARD policy): check that the client reaches the origin
	if ! ip netns exec "$W_C" python3 -c "
import socket,sys
s=socket.socket(); s.settimeout(2)
try: s.connect(('$W_OIP', 9))
except ConnectionRefusedError: sys.exit(0)
except Exception as e: print(e); sys.exit(1)
"; then
		echo "netns: routing between namespaces does not work here"
		world_down
		return 1
	fi
	return 0
}
