# Installs what the benchmark needs from Debian, idempotently: nothing is fetched when everything is there;
# otherwise one `apt-get update`, then `apt-get install` of the missing packages. (PyPI is not used: the
# Python peer runs on Debian's python3 and its packaged modules.) Sourced by run.sh.
BENCH_PACKAGES=(
    fasttext            # the CLI that trains the large model (make-large-model.sh)
    python3-fasttext    # the peer's model library
    python3-flask       # the peer's web framework
    gunicorn            # the peer's server (also python3-gunicorn)
    wrk                 # load generator, with Lua scripts
    nghttp2-client      # h2load: the gRPC (HTTP/2) load generator of steps/protocols.sh
    python3-matplotlib  # charts
    python3-sklearn     # the Python-models step's scikit-learn classifier (steps/python.sh)
    jq                  # JSON records in bash
    curl
    util-linux          # fincore: how much of a file is in the page cache
    vmtouch             # page-cache eviction fallback
    procps
)

ensure_packages() {
    local missing=() p
    for p in "${BENCH_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing Debian packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}
