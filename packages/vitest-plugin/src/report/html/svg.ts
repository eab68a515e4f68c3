/**
 * Vega-Lite spec → SVG text, in Node: compiled by `vega-lite`, drawn by `vega`'s headless SVG
 * renderer. No browser and no canvas are needed; text widths are estimated by vega. Data is
 * inline in every spec, so no loader is touched (and none is given: a spec asking for a URL fails).
 */
import { parse, View } from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { spec: vegaSpec } = compile(spec)
  const view = new View(parse(vegaSpec), {
    renderer: 'none',
    // Refuse any data loading: every report chart carries its data inline.
    loader: {
      load: () => Promise.reject(new Error('report charts load no data')),
      sanitize: () => Promise.reject(new Error('report charts load no data')),
      http: () => Promise.reject(new Error('report charts load no data')),
      file: () => Promise.reject(new Error('report charts load no data')),
    } as never,
  })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
