# Shared settings for the scripts: the build cache lives outside the clone so
# CI and fresh checkouts reuse one compiled dependency tree.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/terrane/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need_cargo() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "cargo is not installed: install Rust from your distribution or rustup first" >&2
        exit 1
    fi
}
