#!/usr/bin/env bash
# t_upgrade_live.sh -- live upgrades with hop receive / hop migrate
# (docs/upgrade.md): tests/upgrade/prog.c v1 runs (and keeps changing one
# entry), v2 receives it and checks every value after resuming -- on x86_64
# and from x86_64 to aarch64 under qemu. Then two upgrades that must be
# refused BEFORE the origin freezes, the origin carrying on: a transfer point
# v2 lost without a HOP_POINT_RENAMED, and an incompatible member without a
# hook; the message names it. And a renamed point live: v2 waits at
# HOP_POINT(aux2), which v1 calls aux (HOP_POINT_RENAMED(aux2, aux)); the v1
# origin parks at aux and v2 resumes after aux2.
# timeout: 300
set -u
. "$(dirname "$0")/../migrate/lib.sh"
cd "$HOP_ROOT"
[ -x bin/hop ] || { echo "bin/hop missing: run make"; exit 77; }
SRC=$HOP_ROOT/tests/upgrade/prog.c
b() { mt_build "$@" -I"$HOP_ROOT/src/lib" || mt_die "build $*"; }
V1=$(b x86_64 "$SRC")
V2=$(b x86_64 "$SRC" -DV2)
V2NOPOINT=$(b x86_64 "$SRC" -DV2 -DV2_NOPOINT)
V2NOHOOK=$(b x86_64 "$SRC" -DV2 -DV2_NOHOOK)
V2AUX=$(b x86_64 "$SRC" -DV2 -DV2_AUXFIRST)

mt_log "v1 x86_64 -> v2 x86_64"
mt_origin x86_64 "$V1"
sleep 0.3
mt_migrate x86_64 "$V2"
mt_expect_committed 1
mt_finish
mt_log "ok: upgraded live, values checked by v2"

mt_log "v1 x86_64 -> v2 waiting at a renamed point: v1 parks at its old name"
mt_origin x86_64 "$V1"
sleep 0.3
mt_migrate x86_64 "$V2AUX"
mt_expect_committed 1
grep -q "resumed at HOP_POINT(aux2)" "$DERR" || mt_die "v2 did not resume at aux2: $(tail -n 3 "$DERR")"
grep -q "HOP_POINT(aux2) was HOP_POINT(aux) here" "$MT_DIR"/origin*.err ||
	mt_die "the origin did not say it parks at aux: $(cat "$MT_DIR"/origin*.err | tail -n 5)"
mt_finish
mt_log "ok: renamed transfer point mapped live"

mt_log "v1 x86_64 -> v2 without the old point: refused before the freeze"
mt_origin x86_64 "$V1"
mt_migrate x86_64 "$V2NOPOINT"
grep -q "HOP_POINT(aux)" "$MT_DIR/migrate.err" || echo "$RESULT" | grep -q "HOP_POINT(aux)" ||
	mt_die "refusal does not name the point: $RESULT $(cat "$MT_DIR/migrate.err")"
[ "$(mt_json frozen)" != true ] || mt_die "origin froze before the refusal: $RESULT"
mt_expect_aborted
mt_log "v1 x86_64 -> v2 without a hook for an incompatible member: refused before the freeze"
mt_migrate x86_64 "$V2NOHOOK"
grep -q "struct conf.mode" "$MT_DIR/migrate.err" || echo "$RESULT" | grep -q "struct conf.mode" ||
	mt_die "refusal does not name the member: $RESULT $(cat "$MT_DIR/migrate.err")"
mt_expect_aborted
mt_log "the same origin, still running, upgrades to v2"
mt_migrate x86_64 "$V2"
mt_expect_committed 1
mt_finish

if command -v qemu-aarch64 >/dev/null; then
	V2A=$(b aarch64 "$SRC" -DV2)
	mt_log "v1 x86_64 -> v2 aarch64 (qemu)"
	mt_origin x86_64 "$V1"
	sleep 0.3
	mt_migrate aarch64 "$V2A"
	mt_expect_committed 1
	mt_finish
	mt_log "ok: upgraded live across machines"
fi
exit 0
