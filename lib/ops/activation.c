/* Placeholder: the host side of the activation kernel family is being written. */
typedef int clseg__placeholder_activation;
