/* Placeholder: the host side of the conv kernel family is being written. */
typedef int clseg__placeholder_conv;
