"""Bank collateral (农村产权抵押融资): applications, registration, double-pledge detection, release and default."""
