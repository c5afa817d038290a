/* Placeholder: the host side of the layout kernel family is being written. */
typedef int clseg__placeholder_layout;
