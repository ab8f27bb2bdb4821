// macvlan port: placeholder
