/* Placeholder: the host side of the batchnorm kernel family is being written. */
typedef int clseg__placeholder_batchnorm;
