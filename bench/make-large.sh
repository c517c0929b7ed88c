#!/usr/bin/env bash
# bench/make-large.sh OUT — the 84,000-message capture of the issue-15 benchmarks, made the way
# shared/peers/make-captures.sh --large makes sip-load-large.pcap: sipp (UAC -sn uac against -sn uas)
# places 14,000 calls at 700 calls/s over UDP on loopback, dumpcap writes them as classic pcap.
# Inside a private network namespace (unshare -n) when allowed, so nothing leaves and no port clashes.
# Needs sipp and dumpcap (root for the capture). ~25 s. Every process is bounded by `timeout`.
set -euo pipefail
OUT="$(realpath -m "$1")"
mkdir -p "$(dirname "$OUT")"
CALLS="${LARGE_CALLS:-14000}"
if [ -z "${HEP_BENCH_NETNS:-}" ] && unshare -n true 2>/dev/null; then
  HEP_BENCH_NETNS=1 exec timeout --kill-after=10 300 unshare -n bash "$0" "$@"
fi
[ "${HEP_BENCH_NETNS:-}" = 1 ] && ip link set lo up
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
rm -f "$OUT"
timeout 200 dumpcap -i lo -f 'port 5060 or port 5070' -w "$OUT" -q -P -B 64 >"$TMP/dumpcap.log" 2>&1 &
CAP=$!
for _ in $(seq 1 100); do grep -q 'Capturing on' "$TMP/dumpcap.log" 2>/dev/null && break; sleep 0.1; done
sleep 0.3
timeout 120 sipp -sn uas -t u1 -i 127.0.0.1 -p 5060 -nostdin -timeout 60 -max_retrans 3 >"$TMP/uas.log" 2>&1 &
UAS=$!
for _ in $(seq 1 50); do ss -Hlun 'sport = :5060' | grep -q . && break; sleep 0.1; done
sleep 0.2
timeout 120 sipp -sn uac 127.0.0.1:5060 -t u1 -i 127.0.0.1 -p 5070 -m "$CALLS" -r 700 -l 2000 \
  -nostdin -timeout 60 -max_retrans 3 >"$TMP/uac.log" 2>&1 || {
  # 1: some calls failed (a loaded machine); the capture holds what was sent, the bench counts it
  rc=$?; [ "$rc" = 1 ] || { tail -5 "$TMP/uac.log" >&2; exit 1; }
  echo "make-large.sh: sipp reported failed calls (a loaded machine); the capture has fewer messages" >&2
}
sleep 0.5
kill "$UAS" 2>/dev/null || true
kill -TERM "$CAP" 2>/dev/null || true
wait "$CAP" 2>/dev/null || true
[ -s "$OUT" ] || { echo "make-large.sh: dumpcap wrote nothing to $OUT:" >&2; cat "$TMP/dumpcap.log" >&2; exit 1; }
echo "$OUT"
