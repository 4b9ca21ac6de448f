#!/bin/sh
# Runs virtlogd and libvirtd (in the foreground, as this very process) in a
# private mount namespace with private config, state, log and socket dirs, on
# the real /sys: a daemon of its own that starts real QEMU guests and applies
# their pins. Used by compiler/tests/verify_libvirt.rs. Needs root, unshare(1),
# libvirtd and virtlogd (both in Debian's libvirt-daemon).
#
#   libvirtd-guests.sh DIR
#
# The script writes DIR/etc (libvirtd.conf, virtlogd.conf, qemu.conf),
# DIR/passwd and DIR/group; the daemons keep their runtime, state, log and
# cache files under DIR/run, DIR/lib, DIR/log and DIR/cache. The sockets are
# DIR/sock/libvirt-sock{,-ro}, so connect with
#   virsh -c 'qemu:///system?socket=DIR/sock/libvirt-sock' ...
# A guest's QEMU log is DIR/log/qemu/NAME.log, its pid file DIR/run/qemu/NAME.pid.
# docs/libvirt.md says why each setting is there.
#
# Start it detached, e.g. `setsid sh libvirtd-guests.sh DIR >DIR/daemon.log 2>&1 &`:
# the script execs unshare, itself and libvirtd in turn, so the pid started is
# libvirtd's. To stop: destroy the guests, SIGTERM libvirtd, then SIGTERM
# virtlogd (its pid is in DIR/run/virtlogd.pid). virtlogd must outlive every
# guest: it holds their logs, and libvirtd cannot stop a guest without it.
set -eu

dir=${1:?usage: libvirtd-guests.sh DIR}

if [ "${VNUMAC_LIBVIRTD_INSIDE:-}" != 1 ]; then
    mkdir -p "$dir/etc" "$dir/run" "$dir/lib" "$dir/log" "$dir/sock" "$dir/cache"
    # Mount points for the private dirs (libvirtd itself would create them).
    mkdir -p /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
    cat >"$dir/etc/libvirtd.conf" <<CONF
unix_sock_dir = "$dir/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
CONF
    cat >"$dir/etc/virtlogd.conf" <<CONF
log_outputs = "3:file:$dir/log/virtlogd.log"
CONF
    # user/group root: QEMU runs as root. As the compiled-in default user
    # (libvirt-qemu), /dev/kvm (root-only here) is not usable, so libvirt finds
    # its cached QEMU capabilities stale on every call and probes QEMU again,
    # seconds each time.
    # cgroup_controllers = []: pins are applied with sched_setaffinity alone.
    # Guests then start where /sys/fs/cgroup is read-only or absent (containers),
    # and this daemon's guests share no cgroup (/machine/qemu-ID-NAME...) with
    # another daemon's.
    # security_driver = "none": no AppArmor or SELinux labelling of QEMU.
    cat >"$dir/etc/qemu.conf" <<CONF
user = "root"
group = "root"
cgroup_controllers = [ ]
security_driver = "none"
CONF
    # The QEMU driver refuses to start unless its compiled-in default user
    # exists, even when qemu.conf says root: give the daemon private copies of
    # passwd/group with libvirt-qemu (and kvm) added when missing.
    cp /etc/passwd "$dir/passwd"
    cp /etc/group "$dir/group"
    getent group kvm >/dev/null || echo "kvm:x:64054:libvirt-qemu" >>"$dir/group"
    getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >>"$dir/group"
    getent passwd libvirt-qemu >/dev/null ||
        echo "libvirt-qemu:x:64055:64055:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin" >>"$dir/passwd"
    VNUMAC_LIBVIRTD_INSIDE=1 exec unshare -m --propagation private sh "$0" "$dir"
fi

# Inside the private mount namespace from here on.
mount --bind "$dir/etc" /etc/libvirt
mount --bind "$dir/run" /run/libvirt
mount --bind "$dir/lib" /var/lib/libvirt
mount --bind "$dir/log" /var/log/libvirt
mount --bind "$dir/cache" /var/cache/libvirt
mount --bind "$dir/passwd" /etc/passwd
mount --bind "$dir/group" /etc/group

# QEMU's stdout and stderr go to virtlogd (qemu.conf's default stdio_handler,
# "logd"), at /run/libvirt/virtlogd-sock: without it no guest starts. It is
# stopped by whoever stops libvirtd; the timeout only ends one left behind.
virtlogd --daemon --timeout 900 --pid-file "$dir/run/virtlogd.pid"
# Its own pid file: the default, /run/libvirtd.pid, is outside the namespace and would
# keep a second daemon (another suite running at the same time) from starting.
exec libvirtd --timeout 120 --pid-file "$dir/run/libvirtd.pid"
