"""Statistics of hazards (隐患统计): counts and rates by region, industry, enterprise, grade,
source or month, in the caller's scope."""
