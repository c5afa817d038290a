/* Placeholder: the host side of the reduce kernel family is being written. */
typedef int clseg__placeholder_reduce;
