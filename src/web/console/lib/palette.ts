/** The console's chart palette: WeCom green first. */
export const COLORS = ['#07c160', '#f0a020', '#d83931', '#3370ff', '#8f959e', '#7b61ff'];
