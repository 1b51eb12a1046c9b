# Sourced by the SFTP benchmarks: starts an sshd on 127.0.0.1 (recipe:
# shared/TEST-SERVERS.md) with its state in "$work/sshd", on a free port.
# Needs $work; sets port, sshd_pid, key, kh, user. The caller's EXIT trap
# kills $sshd_pid. Exits 1 if sshd does not come up.

# A free port: nothing answers on it.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=""
for _ in $(seq 50); do
  p=$(( 20000 + RANDOM % 20000 ))
  if port_free "$p"; then port=$p; break; fi
done
[ -n "$port" ] || { echo "FAILED: no free port found" >&2; exit 1; }

mkdir -p "$work/sshd" && mkdir -p -m 0755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/sshd/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/sshd/client_key"
cp "$work/sshd/client_key.pub" "$work/sshd/authorized_keys"
cat > "$work/sshd/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $work/sshd/host_key
PidFile $work/sshd/sshd.pid
AuthorizedKeysFile $work/sshd/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
MaxSessions 64
MaxStartups 200
Subsystem sftp internal-sftp
CONF
/usr/sbin/sshd -D -e -f "$work/sshd/sshd_config" 2> "$work/sshd/log" &
sshd_pid=$!
up=0
for _ in $(seq 100); do
  if ! port_free "$port"; then up=1; break; fi
  kill -0 "$sshd_pid" 2>/dev/null || break
  sleep 0.05
done
[ "$up" = 1 ] || { cat "$work/sshd/log" >&2; echo "FAILED: sshd did not start on port $port" >&2; exit 1; }
echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$work/sshd/host_key.pub")" > "$work/sshd/known_hosts"
key="$work/sshd/client_key"
kh="$work/sshd/known_hosts"
user=$(id -un)
