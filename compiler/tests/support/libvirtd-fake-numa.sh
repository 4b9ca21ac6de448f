#!/bin/sh
# Runs libvirtd (in the foreground, as this very process) on a faked NUMA host,
# in a private mount namespace, with private config, state and socket dirs.
# Used by compiler/tests/libvirt_driver.rs. Needs root, unshare(1) and libvirtd.
#
#   libvirtd-fake-numa.sh DIR [CACHE_DIR]
#
# DIR/node must hold the fake devices/system/node tree (nodeN/cpulist, cpumap,
# distance, meminfo, hugepages/..., online, possible, has_*). The script writes
# DIR/etc (libvirtd.conf, qemu.conf), DIR/passwd and DIR/group, and libvirtd
# keeps its runtime, state, pid and log files under DIR/run, DIR/lib, DIR/log. The
# QEMU capabilities cache goes to CACHE_DIR (default DIR/cache): share it
# between daemons to probe QEMU only once. The sockets are
# DIR/sock/libvirt-sock{,-ro}, so connect with
#   virsh -c 'qemu:///system?socket=DIR/sock/libvirt-sock' ...
# Nothing outside the namespace is touched except creating empty mount points
# (/run/libvirt, /var/{lib,cache,log}/libvirt, /dev/hugepages,
# /dev/hugepages1G) when they are missing.
#
# Start it detached, e.g. `setsid sh libvirtd-fake-numa.sh DIR >DIR/log.txt 2>&1 &`:
# the script execs unshare, itself and libvirtd in turn, so the pid started is
# libvirtd's. Stop it with SIGTERM to that pid; the namespace and its mounts
# (fake tree, hugetlbfs) go away with it. libvirtd also exits by itself after
# 120 s without clients (--timeout), so a killed test leaves nothing behind.
set -eu

dir=${1:?usage: libvirtd-fake-numa.sh DIR [CACHE_DIR]}
cache=${2:-$dir/cache}

if [ "${VNUMAC_LIBVIRTD_INSIDE:-}" != 1 ]; then
    test -d "$dir/node" || { echo "$dir/node: no fake node tree" >&2; exit 2; }
    mkdir -p "$dir/etc" "$dir/run" "$dir/lib" "$dir/log" "$dir/sock" "$cache"
    # Mount points for the private dirs (libvirtd itself would create them).
    mkdir -p /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt \
        /dev/hugepages /dev/hugepages1G
    cat >"$dir/etc/libvirtd.conf" <<EOF
unix_sock_dir = "$dir/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
EOF
    # The QEMU driver refuses to start unless its compiled-in default user
    # exists, even when qemu.conf says root: give the daemon private copies of
    # passwd/group with libvirt-qemu (and kvm) added when missing.
    cp /etc/passwd "$dir/passwd"
    cp /etc/group "$dir/group"
    getent group kvm >/dev/null || echo "kvm:x:64054:libvirt-qemu" >>"$dir/group"
    getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >>"$dir/group"
    getent passwd libvirt-qemu >/dev/null ||
        echo "libvirt-qemu:x:64055:64055:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin" >>"$dir/passwd"
    VNUMAC_LIBVIRTD_INSIDE=1 exec unshare -m --propagation private sh "$0" "$dir" "$cache"
fi

# Inside the private mount namespace from here on.
mount --bind "$dir/node" /sys/devices/system/node
mount --bind "$dir/etc" /etc/libvirt
mount --bind "$dir/run" /run/libvirt
mount --bind "$dir/lib" /var/lib/libvirt
mount --bind "$dir/log" /var/log/libvirt
mount --bind "$cache" /var/cache/libvirt
mount --bind "$dir/passwd" /etc/passwd
mount --bind "$dir/group" /etc/group

# hugetlbfs with each page size where vnumac's mem-path points; a size the
# kernel lacks is left out (libvirt then rejects guests that need it).
mounts=""
for spec in 2M:/dev/hugepages 1G:/dev/hugepages1G; do
    size=${spec%%:*}
    path=${spec#*:}
    if mount -t hugetlbfs -o "pagesize=$size" hugetlbfs "$path"; then
        mounts="$mounts${mounts:+, }\"$path\""
    else
        echo "libvirtd-fake-numa: no hugetlbfs with pagesize=$size on this kernel" >&2
    fi
done
cat >"$dir/etc/qemu.conf" <<EOF
user = "root"
group = "root"
hugetlbfs_mount = [ $mounts ]
EOF

# Its own pid file: the default, /run/libvirtd.pid, is outside the namespace and would
# keep a second daemon (another suite running at the same time) from starting.
exec libvirtd --timeout 120 --pid-file "$dir/run/libvirtd.pid"
