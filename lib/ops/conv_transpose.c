/* Placeholder: the host side of the conv_transpose kernel family is being written. */
typedef int clseg__placeholder_conv_transpose;
