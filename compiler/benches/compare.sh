#!/bin/sh
# vnumac beside virt-install, and vnumac on large inputs, in one run.
#
#   sh compiler/benches/compare.sh            # RUNS=30 by default
#
# Needs hyperfine, GNU time (/usr/bin/time) and virt-install (Debian: hyperfine,
# time, virtinst). Prints markdown tables: the figures in docs/performance.md
# come from this script.
#
# 1. The talk's guest (examples/talk-manual-cells.vnuma): `vnumac build` against
#    `virt-install --print-xml` given the same cells, distances, memory nodes and
#    vCPU pins by hand. virt-install needs a libvirt connection; libvirt's test
#    driver (test:///default, no daemon) stands in, and it offers only i686
#    guests, so that is the architecture asked for.
# 2. A 4,096-vCPU guest with `vnuma mode=host` on a 64-node, 8,192-CPU host
#    (machine pc-q35-9.0, which QEMU 9.0 starts with up to 4,096 vCPUs, on a host
#    that says qemu="9.0").
# 3. `vnumac host import` of the same 64-node host's capabilities XML
#    (64 cells of 128 CPUs, a 64 × 64 distance table).
set -eu
RUNS=${RUNS:-30}
root=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release -q -p vnumac --manifest-path "$root/Cargo.toml"
vnumac=$root/target/release/vnumac
for tool in hyperfine virt-install /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "compare.sh needs $tool" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# -- inputs
# virt-install's spelling of the talk's guest.
cells=""
memnodes=""
pins=""
for c in 0 1 2 3; do
    cells="$cells,cell$c.id=$c,cell$c.cpus=$((c * 4))-$((c * 4 + 3)),cell$c.memory=8388608"
    for s in 0 1 2 3; do
        v=21
        [ "$s" = "$c" ] && v=10
        cells="$cells,cell$c.distances.sibling$s.id=$s,cell$c.distances.sibling$s.value=$v"
    done
    memnodes="$memnodes,memnode$c.cellid=$c,memnode$c.mode=strict,memnode$c.nodeset=$c"
    for v in 0 1 2 3; do
        vcpu=$((c * 4 + v))
        pins="$pins,vcpupin$vcpu.vcpu=$vcpu,vcpupin$vcpu.cpuset=\"$((c * 15))-$((c * 15 + 14)),$((c * 15 + 60))-$((c * 15 + 74))\""
    done
done
cat > "$work/virt-install.sh" <<EOF
exec virt-install --connect test:///default --print-xml --name OL8-vnuma --osinfo generic \\
  --arch i686 --virt-type test --memory 32768 --memorybacking locked=on \\
  --vcpus 16,sockets=4,dies=1,cores=2,threads=2 --cpu 'host-passthrough$cells' \\
  --numatune '${memnodes#,}' --cputune '${pins#,}' \\
  --import --disk none --network none --graphics none
EOF

# The 64-node host: 2 sockets of 32 nodes, 64 two-thread cores per node.
{
    echo "<capabilities><host><cpu><arch>x86_64</arch></cpu><topology><cells num='64'>"
    n=0
    while [ $n -lt 64 ]; do
        echo "<cell id='$n'><memory unit='KiB'>536870912</memory><distances>"
        m=0
        while [ $m -lt 64 ]; do
            if [ $m = $n ]; then d=10; elif [ $((m / 32)) = $((n / 32)) ]; then d=16; else d=32; fi
            echo "<sibling id='$m' value='$d'/>"
            m=$((m + 1))
        done
        echo "</distances><cpus num='128'>"
        c=0
        while [ $c -lt 64 ]; do
            a=$((n * 64 + c))
            b=$((a + 4096))
            echo "<cpu id='$a' socket_id='$((n / 32))' die_id='0' core_id='$((n % 32 * 64 + c))' siblings='$a,$b'/>"
            echo "<cpu id='$b' socket_id='$((n / 32))' die_id='0' core_id='$((n % 32 * 64 + c))' siblings='$a,$b'/>"
            c=$((c + 1))
        done
        echo "</cpus></cell>"
        n=$((n + 1))
    done
    echo "</cells></topology></host></capabilities>"
} > "$work/big.caps.xml"
cat > "$work/v4096.vnuma" <<EOF
host big from="big.caps.xml" qemu="9.0"

guest huge on=big {
  machine "pc-q35-9.0"
  memory 4TiB
  vcpus 4096
  vnuma mode=host
}
EOF

# -- sanity: every command succeeds before it is timed
(cd "$root" && "$vnumac" build examples/talk-manual-cells.vnuma > "$work/talk.xml")
sh "$work/virt-install.sh" > "$work/virt-install.xml"
(cd "$work" && "$vnumac" build v4096.vnuma > v4096.xml)
(cd "$work" && "$vnumac" host import big.caps.xml > big.vnuma)

peak() { # peak RSS in MiB of one run of the command
    /usr/bin/time -f '%M' -o "$work/rss" "$@" > /dev/null
    awk '{ printf "%.1f MiB", $1 / 1024 }' "$work/rss"
}

echo "## Time ($RUNS runs each, $(nproc) CPUs, $(uname -m))"
echo
cd "$work"
hyperfine -N --warmup 3 --runs "$RUNS" --style none --export-markdown "$work/times.md" \
    -n "vnumac build (talk's guest)" "$vnumac build $root/examples/talk-manual-cells.vnuma" \
    -n "virt-install --print-xml (talk's guest)" "sh $work/virt-install.sh" \
    -n "vnumac build (4,096 vCPUs, 64 nodes)" "$vnumac build v4096.vnuma" \
    -n "vnumac host import (64 nodes)" "$vnumac host import big.caps.xml" > /dev/null
cat "$work/times.md"
echo
echo "## Peak memory (RSS)"
echo
echo "| command | peak RSS | output |"
echo "|:---|---:|---:|"
echo "| vnumac build (talk's guest) | $(peak "$vnumac" build "$root/examples/talk-manual-cells.vnuma") | $(wc -c < talk.xml) bytes |"
echo "| virt-install --print-xml (talk's guest) | $(peak sh "$work/virt-install.sh") | $(wc -c < virt-install.xml) bytes |"
echo "| vnumac build (4,096 vCPUs, 64 nodes) | $(peak "$vnumac" build v4096.vnuma) | $(wc -c < v4096.xml) bytes |"
echo "| vnumac host import (64 nodes, $(wc -c < big.caps.xml) bytes of XML) | $(peak "$vnumac" host import big.caps.xml) | $(wc -c < big.vnuma) bytes |"
echo
echo "versions: $("$vnumac" --version), virt-install $(virt-install --version), $(hyperfine --version)"
