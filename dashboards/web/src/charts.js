// ECharts, with only the chart types and components the overview uses (keeps the bundle
// small). Charts made here are disposed of when the page changes.
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, TitleComponent, CanvasRenderer]);

export const COLORS = {
  critical: '#a8071a',
  high: '#d4380d',
  medium: '#d48806',
  low: '#1677ff',
  info: '#8c8c8c',
  ready: '#389e0d',
  partial: '#95de64',
  unreachable: '#d4380d',
  none: '#a8071a',
  unknown: '#bfbfbf',
};

const live = new Set();

const reducedMotion = () => window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;

// A chart in el with option; returns the instance.
export function chart(el, option) {
  const c = echarts.init(el, null, { renderer: 'canvas' });
  c.setOption({
    animation: !reducedMotion(),
    textStyle: { fontFamily: 'inherit' },
    tooltip: { trigger: 'item' },
    ...option,
  });
  live.add(c);
  return c;
}

export function disposeCharts() {
  for (const c of live) c.dispose();
  live.clear();
}

let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const c of live) c.resize();
  }, 100);
});

// Printing lays the page out anew: fit the charts to the paper's width.
window.addEventListener('beforeprint', () => {
  for (const c of live) c.resize();
});
