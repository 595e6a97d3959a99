# Sourced by test scripts: mini_mnist DEST NTRAIN NTEST writes a valid MNIST
# folder holding the first NTRAIN training and NTEST test images of the real
# data (from the cache; fetched by `dacc data` if needed), so end-to-end tests
# spend their time on what they check rather than on evaluating 70000 images.
be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
mini_mnist() {
    local dest=$1 ntrain=$2 ntest=$3 src
    src=$("$DACC" data --no-fetch 2>/dev/null | sed -n 's/^MNIST in //p')
    [ -n "$src" ] || { "$DACC" data >/dev/null 2>&1; src=$("$DACC" data --no-fetch | sed -n 's/^MNIST in //p'); }
    [ -n "$src" ] || return 1
    mkdir -p "$dest"
    local set n
    for set in train t10k; do
        [ $set = train ] && n=$ntrain || n=$ntest
        { printf '\x00\x00\x08\x03'; be32 "$n"; be32 28; be32 28; tail -c +17 "$src/$set-images-idx3-ubyte" | head -c $((n * 784)); } \
            > "$dest/$set-images-idx3-ubyte"
        { printf '\x00\x00\x08\x01'; be32 "$n"; tail -c +9 "$src/$set-labels-idx1-ubyte" | head -c "$n"; } \
            > "$dest/$set-labels-idx1-ubyte"
    done
}
