/* Placeholder: the host side of the resize kernel family is being written. */
typedef int clseg__placeholder_resize;
