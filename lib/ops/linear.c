/* Placeholder: the host side of the linear kernel family is being written. */
typedef int clseg__placeholder_linear;
