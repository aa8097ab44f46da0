"""The collective's books (集体资产台账): members, meetings and resolutions, inventory, shares, income distribution."""
