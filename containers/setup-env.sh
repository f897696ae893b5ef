#!/bin/sh
# Prepares this checkout for `docker compose up -d` (`make up` runs it first):
#
#  1. creates .env from default.env when .env is missing;
#  2. fills every empty secret in .env (and the MQTT session id prefix) with a
#     random value; values already set are never changed;
#  3. makes .env readable by its owner only (mode 0600);
#  4. creates the download directory (HOST_DATA_PATH, default ./downloads) and
#     gives the containers' user (UID 10001, GID 988) write access where it
#     can (chown when run as root, else POSIX ACLs), printing the commands to
#     run where it cannot.
#
# Idempotent: run it as often as you like. POSIX sh; needs only od, awk and
# /dev/urandom (openssl is used when present).
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"

env_file=.env
template=default.env
app_uid=10001
app_gid=988
# Secrets generated when empty: 32 random bytes, hex encoded.
secrets='REDIS_PASSWORD API_SECRET_KEY API_TOKEN UI_SECRET_KEY GRAFANA_ADMIN_PASSWORD'

say() { printf 'setup-env: %s\n' "$*"; }
warn() { printf 'setup-env: WARNING: %s\n' "$*" >&2; }

# random_hex N prints N random bytes as 2N lowercase hex digits.
random_hex() {
	if command -v openssl >/dev/null 2>&1; then
		openssl rand -hex "$1"
	else
		od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
		echo
	fi
}

# value_of NAME prints the value of NAME in .env (the last definition wins,
# as in docker compose), without surrounding quotes; empty when absent.
value_of() {
	awk -v name="$1" '
		index($0, name "=") == 1 { v = substr($0, length(name) + 2) }
		END {
			sub(/^[ \t]+/, "", v); sub(/[ \t\r]+$/, "", v)
			if (v ~ /^".*"$/ || v ~ /^\047.*\047$/) v = substr(v, 2, length(v) - 2)
			print v
		}' "$env_file"
}

# set_value NAME VALUE writes NAME=VALUE over every empty definition of NAME,
# or appends it when NAME is not defined at all.
set_value() {
	tmp=$(mktemp "$env_file.XXXXXX")
	awk -v name="$1" -v value="$2" '
		index($0, name "=") == 1 {
			v = substr($0, length(name) + 2); gsub(/[ \t\r"\047]/, "", v)
			found = 1
			if (v == "") { print name "=" value; next }
		}
		{ print }
		END { if (!found) print name "=" value }' "$env_file" >"$tmp"
	cat "$tmp" >"$env_file"
	rm -f "$tmp"
}

umask 077

# 1. .env from the template.
if [ ! -f "$env_file" ]; then
	if [ ! -f "$template" ]; then
		warn "$template not found in $root"
		exit 1
	fi
	cp "$template" "$env_file"
	say "created $env_file from $template"
fi

# 3 (first, so secrets are never written to a readable file).
chmod 600 "$env_file"

# 2. Secrets and the MQTT session id prefix.
for name in $secrets; do
	if [ -z "$(value_of "$name")" ]; then
		secret=$(random_hex 32)
		if [ ${#secret} -ne 64 ]; then
			warn "could not generate a random value for $name"
			exit 1
		fi
		set_value "$name" "$secret"
		say "generated $name"
	fi
done
if [ -z "$(value_of MQTT_SESSION_ID)" ]; then
	# Unique per deployment: every WIS2 subscriber logs in as everyone/everyone,
	# so a client id shared with another site would disconnect both.
	set_value MQTT_SESSION_ID "wis2downloader-$(random_hex 6)"
	say "generated MQTT_SESSION_ID (each subscriber appends its broker name)"
fi

# Settings added to default.env after this .env was created.
missing=$(awk -F= '
	NR == FNR { if ($0 ~ /^[A-Za-z_][A-Za-z0-9_]*=/) have[$1] = 1; next }
	/^[A-Za-z_][A-Za-z0-9_]*=/ && !($1 in have) { printf "%s ", $1 }' "$env_file" "$template")
if [ -n "$missing" ]; then
	say "note: $env_file lacks ${missing}(their defaults apply; see $template)"
fi

# 4. The download directory (readable by the host's users, unlike .env).
umask 022
data_dir=$(value_of HOST_DATA_PATH)
data_dir=${data_dir:-./downloads}
mkdir -p "$data_dir"
owner=$(ls -nd "$data_dir" | awk '{ print $3 }')
if [ "$owner" = "$app_uid" ]; then
	say "$data_dir is owned by UID $app_uid"
elif [ "$(id -u)" = 0 ]; then
	chown -R "$app_uid:$app_gid" "$data_dir"
	chmod 2775 "$data_dir"
	say "$data_dir now belongs to UID $app_uid, GID $app_gid"
elif command -v setfacl >/dev/null 2>&1 &&
	setfacl -R -m "u:$app_uid:rwx" "$data_dir" 2>/dev/null &&
	setfacl -R -d -m "u:$app_uid:rwx" "$data_dir" 2>/dev/null; then
	say "granted UID $app_uid write access to $data_dir with ACLs"
else
	warn "the containers (UID $app_uid) may not be able to write to $data_dir."
	warn "run ONE of these, then start the stack again:"
	warn "  sudo chown -R $app_uid:$app_gid '$data_dir'"
	warn "  sudo setfacl -R -m u:$app_uid:rwx '$data_dir' && sudo setfacl -R -d -m u:$app_uid:rwx '$data_dir'"
fi

say "$env_file is ready (mode 600); start with: docker compose up -d"
