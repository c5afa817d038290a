/* Placeholder: the host side of the eltwise kernel family is being written. */
typedef int clseg__placeholder_eltwise;
