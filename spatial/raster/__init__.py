"""Rasters: zonal statistics over elements, values at projects, slope, and the layout on a model's grid."""
