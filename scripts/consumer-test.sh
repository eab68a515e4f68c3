#!/usr/bin/env bash
# The consumer test: what a user gets from the published packages. Packs every package, installs
# the tarballs with npm into a fresh project outside the workspace (its own package.json, Vitest
# 5.1, Node 24 as a devDependency, as the README tells Node 20 users), with no C++ compiler on
# PATH, then: type-checks the project strictly, runs `vitest bench --run` (host function, a WGSL
# kernel on WebGPU, gemm on the CPU backend from the prebuilt addon), records baselines with
# `gpubench record`, reads them in a second run, and expects a twice-as-slow host function to fail
# after the default confirmations.
#
#   bash scripts/consumer-test.sh [--keep]     (--keep leaves the project folder for a look)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
keep=0; [ "${1:-}" = "--keep" ] && keep=1
# The npm and Node a user starts with: the system's, not the workspace's (pnpm puts its own first).
sys_node="$(PATH=/usr/local/bin:/usr/bin:/bin command -v node)"
sys_npm="$(PATH=/usr/local/bin:/usr/bin:/bin command -v npm)"
sys_npx="$(PATH=/usr/local/bin:/usr/bin:/bin command -v npx)"
packs="$(mktemp -d "${TMPDIR:-/tmp}/gpubench-packs-XXXXXX")"
project="$(mktemp -d "${TMPDIR:-/tmp}/gpubench-consumer-XXXXXX")"
tools="$(mktemp -d "${TMPDIR:-/tmp}/gpubench-consumer-bin-XXXXXX")"
cleanup() { [ $keep = 1 ] && echo "consumer: kept $project" || rm -rf "$project"; rm -rf "$packs" "$tools"; }
trap cleanup EXIT
step() { printf '\n== consumer: %s\n' "$*"; }
fail() { echo "consumer: FAILED: $*" >&2; exit 1; }

step "build and pack"
"$sys_node" "$root/scripts/build-packages.mjs" --pack "$packs"

# A PATH with Node, npm and a shell's basic tools, and no compiler: nothing may need one.
for tool in sh bash env cat ls rm mkdir cp mv ln chmod dirname basename uname sed grep tr head tail tee wc date sleep git; do
  p="$(command -v "$tool" || true)"; [ -n "$p" ] && ln -s "$p" "$tools/$tool"
done
ln -s "$sys_node" "$tools/node"; ln -s "$sys_npm" "$tools/npm"; ln -s "$sys_npx" "$tools/npx"
full_path="$PATH"
export PATH="$tools"
for cc in c++ g++ gcc cc clang clang++ make python3 nvcc; do
  if command -v "$cc" >/dev/null; then fail "$cc is on the consumer PATH"; fi
done

cp -r "$root/scripts/consumer/." "$project/"
tarball() { ls "$packs"/gpubench-"$1"-[0-9]*.tgz; }
cat > "$project/package.json" <<JSON
{
  "name": "gpubench-consumer",
  "private": true,
  "type": "module",
  "scripts": { "bench": "vitest bench --run", "typecheck": "tsc -p tsconfig.json" },
  "devDependencies": {
    "@gpubench/core": "file:$(tarball core)",
    "@gpubench/native": "file:$(tarball native)",
    "@gpubench/native-linux-x64-gnu": "file:$(tarball native-linux-x64-gnu)",
    "@gpubench/vitest-plugin": "file:$(tarball vitest-plugin)",
    "@gpubench/webgpu": "file:$(tarball webgpu)",
    "@types/node": "^24.0.0",
    "node": "24.9.0",
    "typescript": "~5.9.3",
    "vitest": "5.1.1"
  }
}
JSON
cd "$project"
unset npm_config_prefix npm_config_user_agent npm_execpath npm_node_execpath
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

step "npm install (node $("$sys_node" -v), npm $(npm -v), no compiler on PATH)"
started=$(date +%s)
npm install --no-audit --no-fund --loglevel=error
echo "consumer: installed in $(( $(date +%s) - started )) s"
[ -e node_modules/@gpubench/native-linux-x64-gnu/gpubench_native.node ] || fail "the prebuilt addon was not installed"
[ ! -e node_modules/@gpubench/native/build ] || fail "something built the addon from source"

step "strict type-check (exactOptionalPropertyTypes, noPropertyAccessFromIndexSignature, noUnusedLocals, skipLibCheck off)"
npm run -s typecheck

run_bench() { # expected exit status, then arguments and environment for vitest
  local want=$1; shift
  set +e; env "$@" 2>&1 | tee "$project/last-run.log"; local got=${PIPESTATUS[0]}; set -e
  [ "$got" = "$want" ] || fail "expected exit $want, got $got: $*"
}
step "first run, no baselines: exit 0"
run_bench 0 npm run -s bench
grep -q 'xorshift' last-run.log || fail "the host benchmark did not report"
grep -qi 'webgpu' last-run.log || fail "the WebGPU benchmark did not report"

step "gpubench record --runs 3 writes the baselines"
npx gpubench record --runs 3
ls baselines/*.json >/dev/null 2>&1 || fail "no baseline file was written"
ls -l baselines

# The same machine has one id whatever the PATH: a shell with lscpu and friends names it as this one did.
expected_cpu_id="$(PATH="$full_path" node --input-type=module -e "import { cpuDeviceId, hostInfo } from '@gpubench/core'; console.log(cpuDeviceId(await hostInfo(), 'cpu'))")"
[ -e "baselines/$expected_cpu_id.json" ] || fail "with the full PATH this machine is $expected_cpu_id, but the trimmed PATH recorded $(ls baselines)"

step "second run reads them: exit 0"
run_bench 0 npm run -s bench
grep -qE 'xorshift .*\(3 runs\)' last-run.log || fail "the second run did not compare with the 3-run baseline"

step "the host function made twice as slow: exit 1"
run_bench 1 CONSUMER_SLOWDOWN=2 npm run -s bench
grep -q 'regressed' last-run.log || fail "the slowed run did not say 'regressed'"
# By default a regression stands only after three more measurements, 2, 6 and 18 s apart.
grep -q 'confirmed: 4 measurements, after pauses of 2 s, 6 s and 18 s, every one regressed' last-run.log ||
  fail "the slowed run's regression was not confirmed by the default schedule"

step "passed"
